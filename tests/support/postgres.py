"""PostgreSQL fixtures (throwaway cluster)."""
