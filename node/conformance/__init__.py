"""A black-box conformance suite for federation nodes (``baliza conformance``).

It drives another implementation's node over the federation API only, as
Complement does for Matrix homeservers: it plays federation members with
keys of its own, which the target trusts through a directory the suite
founds (``prepare``), and checks what the target accepts and how it refuses,
each check tagged with the spec section it tests. Messages are built with
Baliza's pure ``protocol`` and ``crypto`` packages (the reference encoder);
the target is reached only over HTTP(S). Nothing here imports the node's
services or storage: the suite knows of the target only what it answers.

Modules: ``checks`` (the registry and the runner), ``target`` (signed
requests and answers), ``kit`` (the suite's keys folder and what it builds),
``prepare`` (founding the directory, the operator's steps), ``report``
(lines and JUnit XML), and one module per area of the spec.
"""
