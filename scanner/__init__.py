"""privatelink-scanner: prove that SageMaker notebooks are reachable only over PrivateLink."""

__version__ = "0.1.0"
