"""Equipment connectors (eGym, ...): declarations, settings, the outbox and its delivery.

- `declaration`: the fields a connector can send, mapped from the model;
- `egym`: eGym's declaration and HTTP client;
- `settings`: a club's choices (enabled, URL, key, plans, basis, optional fields) and who is eligible;
- `outbox`: rows written in the same transaction as the change, and the receiver of `signals.erasing`;
- `delivery`: claiming and delivering outbox rows, retries, parking;
- `plans`: the one place that knows how plans are stored.
"""
