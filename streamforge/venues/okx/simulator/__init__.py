"""OKX's wire format served from the simulated market: REST in OKX's envelope with its per-endpoint limits
(`rest`, `ratelimit`), daily trade files in UTC+8 days (`files`), the public and business WebSockets (`ws`), all
formatted by `wire`; `routes` mounts them."""
