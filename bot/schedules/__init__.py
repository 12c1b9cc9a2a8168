"""Schedules: the service that fires them, and the maths of when they fire."""
