from symbptt.cli import main

raise SystemExit(main())
