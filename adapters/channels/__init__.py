"""Notification channels (ports/notifications.py ChannelSender): SMTP email, .eml files, Twilio-style
SMS, Web Push, and a logging channel for the embedded mode."""
