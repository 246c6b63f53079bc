"""SCIM 2.0 (RFC 7643, RFC 7644; DESIGN §10): the identity provider's way in, a peer of
the Slack listeners and the login webhook. It translates HTTP and JSON into the directory
services (`bot/services/directory.py`) and renders their answers; no rule lives here.

`app.py` routes and authenticates; `users.py`, `groups.py` and `discovery.py` are the
endpoints; `models.py` what Rollcall keeps of a User and a Group (scim2-models);
`filters.py` and `patch.py` read filters and PATCH bodies; `errors.py` turns every
refusal into a SCIM error body. See docs/scim.md."""

from handlers.scim.app import scim_app

__all__ = ["scim_app"]
