"""Settings package: `base` (everything from the environment, safe defaults), `local` (development defaults for
one machine: the embedded default), `production` (refuses to start without real secrets), `test`."""
