"""The app's own package, shared by both sidecars."""
VERSION = "0.4.0"
