export { BinderForm } from "./components/binder-form";
