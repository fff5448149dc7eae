"""Notifications: tells people what happened, in their inbox and by email, exactly once."""
