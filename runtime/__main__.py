from microturn.runtime.cli import main

raise SystemExit(main())
