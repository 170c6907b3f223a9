"""`python -m fhirmony.sources.mapping MAPPING.yaml EXTRACT_DIR`: try a mapping on an extract."""

import sys

from fhirmony.sources.mapping.check import main

sys.exit(main())
