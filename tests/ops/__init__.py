"""Operations: metrics, readiness, CSV import/export, the local cluster."""
