-- The W3C traceparent of the request that wrote the event (issue 15): the relay publishes it in that trace
-- (adapters/metrics/event_traces.py).  NULL when tracing was off.
ALTER TABLE outbox ADD COLUMN trace_context TEXT;
