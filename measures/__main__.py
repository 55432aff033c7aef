from measures.cli import main

raise SystemExit(main())
