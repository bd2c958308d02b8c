"""The publication rules, each once, as pure functions (no I/O, no database, no clock).

- ``content``   what a notice carries, looking through a correction
- ``identity``  what a notice *is*, for the re-publication rule
- ``facts``     the facts a decision reads beforehand, and the policy
- ``lifecycle`` superseding: owner, kind, handling, channel
- ``audience``  the JIT rule, the nominal policy, subscribers
- ``decide``    the decisions every emitting path asks, in their order
- ``channel_reach`` which membership versions an agency may receive
- ``channel_signing`` when an owner may sign another owner's channel proposal
- ``delivery_state`` where a sent envelope stands at a recipient: what happened last

The node reads the facts in one read (``services/publication_facts.py``),
asks the decision, then seals; ingest asks ``check_supersedes_owner`` too.
"""
