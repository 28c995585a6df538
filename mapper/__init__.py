"""Mapper: the workload graph, the Mapping artifact, the analytical model and the strategies."""
