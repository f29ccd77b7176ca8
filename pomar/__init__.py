"""The ``pomar`` application: the command line on top of the coordinator and the agent."""
