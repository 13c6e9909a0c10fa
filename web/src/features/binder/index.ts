export { BinderForm, BinderSection } from "./components/binder-form";
export { LaunchPage } from "./components/launch-page";
