"""The background reasoner service (gRPC) and its backends."""
