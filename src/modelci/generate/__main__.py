import sys

from modelci.generate import main

sys.exit(main())
