"""The node's HTTP faces: federation endpoints, the local JSON API, admin API, metrics.

Handlers parse, authorise (by the route table), call one service and render.
"""
