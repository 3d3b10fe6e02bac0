"""The application's use cases, grouped by who performs them."""
