"""notesplugin: supportive-supervision checks on psychotherapy session-note exports."""

__version__ = "0.1.0"
