from symbptt.cli.commands import main

raise SystemExit(main())
