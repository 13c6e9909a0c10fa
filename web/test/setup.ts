import { afterEach } from "vitest";
import { cleanup } from "@testing-library/react";

// Testing Library unmounts automatically only with vitest globals; this suite imports its functions instead.
afterEach(cleanup);
