"""Code every Linli service uses: configuration, event contracts, messaging, stores, auth, runtime."""
