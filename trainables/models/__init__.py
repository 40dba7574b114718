"""Model modules and parameter counting."""
