"""HTTP pieces every service shares: auth, health, errors."""
