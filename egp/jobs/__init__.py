"""Distributed evolution jobs: the job spec, the jobs table, and the epoch logic the worker tasks call."""
