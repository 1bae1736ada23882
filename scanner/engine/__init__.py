"""privatelink-scanner."""
