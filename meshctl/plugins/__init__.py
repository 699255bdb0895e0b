"""The plugin commands shipped with meshctl; `catalog` declares them, each module implements one."""
