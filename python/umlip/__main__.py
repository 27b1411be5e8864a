from umlip.cli import main

raise SystemExit(main())
