// Service worker for Web Push: shows each push (JSON: title, body, url, key) and opens its link.
// The payload's key is the delivery's idempotency key: a push delivered twice replaces itself (tag).

self.addEventListener("push", (event) => {
  const data = event.data ? event.data.json() : { title: "Confero" };
  event.waitUntil(self.registration.showNotification(data.title, {
    body: data.body ?? "", tag: data.key ?? undefined, data: { url: data.url ?? "/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow(event.notification.data.url));
});
