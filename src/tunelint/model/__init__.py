"""Plain data and helpers every layer may use; modules here import nothing else of tunelint."""
