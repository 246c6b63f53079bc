"""Slack: the Bolt app and its listeners, one entry point among peers (handlers/)."""
