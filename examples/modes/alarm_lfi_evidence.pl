% One night per example; examples are separated by lines starting with ---.
evidence(burglary, false).
evidence(alarm, false).
---
evidence(earthquake, false).
evidence(alarm, true).
evidence(burglary, true).
---
evidence(burglary, false).
---
evidence(alarm, true).
---
evidence(earthquake, true).
evidence(alarm, false).
