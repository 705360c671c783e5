"""Incidents: clusters of complaints detected, specified (IS / IS NOT) and decided on."""
