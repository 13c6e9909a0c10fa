export { NewTokenForm } from "./components/new-token-form";
export { TokenList } from "./components/token-list";
