// Allure 3 configuration, found by `npx allure ...` run from the repository root and used by `clusterproof report`.
// The settings live in core/report/allure-config.ts.
import { allureConfig } from './core/report/allure-config.ts';

export default allureConfig();
