import sys

from b03lint.cli import main

sys.exit(main())
