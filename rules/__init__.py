"""Rule packs shipped with the scanner, as YAML data (see README: rule catalog)."""
