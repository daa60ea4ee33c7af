from bigart.cli import main

raise SystemExit(main())
