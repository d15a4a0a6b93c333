import type { Preview } from "@storybook/react-vite";
import "../src/app/globals.css";

const preview: Preview = {
  parameters: { layout: "padded" },
  decorators: [
    (Story) => (
      <div className="page" style={{ padding: 0 }}>
        <Story />
      </div>
    ),
  ],
};

export default preview;
