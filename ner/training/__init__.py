"""Training: ``config`` (every setting and its checks), ``fit`` (fit, monitor dev F1, write the bundle)."""
