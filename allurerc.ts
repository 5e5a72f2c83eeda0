// Allure 3 configuration, found by `npx allure ...` run from the repository root and used by `clusterproof report`.
// The settings live in src/report/allure-config.ts.
import { allureConfig } from './src/report/allure-config.ts';

export default allureConfig();
