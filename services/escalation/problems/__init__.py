"""Problems: root causes, corrective actions, and the verified effect of the fix."""
