"""Demo environment: bookinfo-like HTTP apps and a supervisor for background processes."""
