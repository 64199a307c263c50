"""Notification adapters with the same provider names in each family, and the service on top.

The family container of the process (runners.containers / runners.production / runners.sqlite) is
handed in as ``family``: users and meetings come from it, and so do the PostgreSQL pool and the Redis
client in production and the database file with APP_SQLITE_PATH.  The plain embedded family keeps
notifications in memory (README "Notifications")."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import random
from typing import Any

from dependency_injector import containers, providers

from adapters.channels.files import LoggingSender, MailDirEmailSender
from adapters.inprocess.notification_directory import RepositoryDirectory
from adapters.memory.job_queue import InMemoryJobQueue
from adapters.memory.notifications import (InMemoryDeliveryLimiter, InMemoryLiveNotifications,
                                           InMemoryNotificationHistory, InMemoryPreferenceStore,
                                           InMemoryPushSubscriptions, InMemoryReminderStore, InMemorySentLog)
from adapters.postgres.notifications import (PostgresNotificationHistory, PostgresPreferenceStore,
                                             PostgresPushSubscriptions, PostgresReminderStore)
from adapters.redis.job_queue import RedisJobQueue
from adapters.redis.notifications import RedisDeliveryLimiter, RedisLiveNotifications, RedisSentLog
from adapters.sqlite.notifications import (SqliteNotificationHistory, SqlitePreferenceStore, SqlitePushSubscriptions,
                                           SqliteReminderStore)
from adapters.system.clock import SystemClock
from domain.notifications.dispatch import Dispatcher
from domain.notifications.jobs import RetryPolicy
from domain.notifications.model import Channel
from domain.notifications.service import Links, NotificationService
from ports.notifications import ChannelSender, PushSubscriptions
from runners.settings import AdapterFamily, Settings

log = logging.getLogger(__name__)


def _window(settings: Settings) -> dt.timedelta:
    return dt.timedelta(seconds=settings.notify_rate_window)


class MemoryNotificationAdapters(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    family = providers.DependenciesContainer()

    history = providers.Singleton(InMemoryNotificationHistory)
    preferences = providers.Singleton(InMemoryPreferenceStore)
    reminders = providers.Singleton(InMemoryReminderStore)
    subscriptions = providers.Singleton(InMemoryPushSubscriptions)
    queue = providers.Singleton(InMemoryJobQueue)
    sent_log = providers.Singleton(InMemorySentLog)
    limiter = providers.Singleton(InMemoryDeliveryLimiter, settings.provided.notify_rate_limit,
                                  providers.Callable(_window, settings))
    live = providers.Singleton(InMemoryLiveNotifications)


class SqliteNotificationAdapters(MemoryNotificationAdapters):
    """APP_SQLITE_PATH: history, preferences, reminders and subscriptions in the file (reminders fire
    after a restart); the job queue stays in memory (a job pending at a stop is lost)."""

    history = providers.Singleton(SqliteNotificationHistory, MemoryNotificationAdapters.family.database)
    preferences = providers.Singleton(SqlitePreferenceStore, MemoryNotificationAdapters.family.database)
    reminders = providers.Singleton(SqliteReminderStore, MemoryNotificationAdapters.family.database)
    subscriptions = providers.Singleton(SqlitePushSubscriptions, MemoryNotificationAdapters.family.database)


class ProductionNotificationAdapters(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    family = providers.DependenciesContainer()

    history = providers.Singleton(PostgresNotificationHistory, family.pool)
    preferences = providers.Singleton(PostgresPreferenceStore, family.pool)
    reminders = providers.Singleton(PostgresReminderStore, family.pool)
    subscriptions = providers.Singleton(PostgresPushSubscriptions, family.pool)
    queue = providers.Singleton(RedisJobQueue, family.redis)
    sent_log = providers.Singleton(RedisSentLog, family.redis)
    limiter = providers.Singleton(RedisDeliveryLimiter, family.redis, settings.provided.notify_rate_limit,
                                  providers.Callable(_window, settings))
    live = providers.Singleton(RedisLiveNotifications, family.redis)


def email_sender(settings: Settings) -> ChannelSender:
    domain = settings.mail_from.rsplit("@", 1)[-1].strip(" >") or "confero.localhost"
    if settings.smtp_host:
        from adapters.channels.smtp import SmtpEmailSender

        return SmtpEmailSender(settings.smtp_host, settings.smtp_port, sender=settings.mail_from, domain=domain,
                               username=settings.smtp_username, password=settings.smtp_password,
                               use_tls=settings.smtp_tls == "tls",
                               start_tls=True if settings.smtp_tls == "starttls" else False)
    return MailDirEmailSender(settings.mail_dir, sender=settings.mail_from, domain=domain)


def sms_sender(settings: Settings) -> ChannelSender:
    if settings.sms_account_sid:
        from adapters.channels.sms import TwilioSmsSender

        return TwilioSmsSender(settings.sms_url, settings.sms_account_sid, settings.sms_auth_token, settings.sms_from)
    return LoggingSender(Channel.SMS)


def push_sender(settings: Settings, subscriptions: PushSubscriptions) -> ChannelSender:
    if settings.vapid_private_key:
        from adapters.channels.webpush import WebPushSender

        return WebPushSender(subscriptions, settings.vapid_private_key, settings.vapid_subject)
    return LoggingSender(Channel.PUSH)


def senders(email: ChannelSender, sms: ChannelSender, push: ChannelSender) -> dict[Channel, ChannelSender]:
    return {Channel.EMAIL: email, Channel.SMS: sms, Channel.PUSH: push}


def links(settings: Settings) -> Links:
    # Derived from the JWT secret: one secret less to configure; embedded mode (a fresh JWT secret per
    # process) therefore invalidates unsubscribe links at restart.
    secret = hmac.new(settings.jwt_secret.encode(), b"confero-unsubscribe", hashlib.sha256).digest()
    return Links(base_url=settings.public_url, unsubscribe_secret=secret)


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.notify_max_attempts,
                       base=dt.timedelta(seconds=settings.notify_retry_base))


class Notifications(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    family = providers.DependenciesContainer()
    adapters = providers.DependenciesContainer()

    clock = providers.Singleton(SystemClock)
    directory = providers.Singleton(RepositoryDirectory, family.users, family.meetings)
    email = providers.Singleton(email_sender, settings)
    sms = providers.Singleton(sms_sender, settings)
    push = providers.Singleton(push_sender, settings, adapters.subscriptions)
    service = providers.Singleton(
        NotificationService, history=adapters.history, preferences=adapters.preferences,
        reminders=adapters.reminders, queue=adapters.queue, live=adapters.live, directory=directory,
        subscriptions=adapters.subscriptions, clock=clock, links=providers.Callable(links, settings))
    dispatcher = providers.Singleton(
        Dispatcher, queue=adapters.queue, sent=adapters.sent_log, limiter=adapters.limiter,
        senders=providers.Callable(senders, email, sms, push), clock=clock,
        retry=providers.Callable(retry_policy, settings), rng=providers.Singleton(random.Random))


def build_notifications(settings: Settings, family: Any) -> Notifications:
    """The notification container on top of the process's adapter family."""
    if settings.adapters is AdapterFamily.PRODUCTION:
        kind: type[containers.DeclarativeContainer] = ProductionNotificationAdapters
    elif settings.sqlite_path:
        kind = SqliteNotificationAdapters
    else:
        kind = MemoryNotificationAdapters
    chosen = kind(settings=settings, family=family)
    return Notifications(settings=settings, family=family, adapters=chosen)
