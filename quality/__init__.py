"""The quality check catalogue, its Great Expectations runner and the steward report."""
